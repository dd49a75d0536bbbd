import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { Services } from '../services';
import { Role, User } from '../entities/user.entity';

export interface SeedResult {
  created: boolean;
  products: number;
  adminEmail: string;
  customerEmail: string;
  password: string;
}

const DEMO_PASSWORD = 'shoestore-demo';
const ADMIN_EMAIL = 'admin@shoestore.local';
const CUSTOMER_EMAIL = 'customer@shoestore.local';

const shoes: Array<{ name: string; brand: string; category: string; price: number; description: string; sizes: string[]; colors: string[] }> = [
  { name: 'Air Max 270', brand: 'Nike', category: 'running', price: 149.99, description: 'Max Air cushioning for all-day comfort.', sizes: ['8', '9', '10', '11'], colors: ['black', 'white'] },
  { name: 'Pegasus 41', brand: 'Nike', category: 'running', price: 139.99, description: 'Responsive everyday trainer.', sizes: ['7', '8', '9', '10', '11'], colors: ['blue', 'black'] },
  { name: 'Air Force 1', brand: 'Nike', category: 'lifestyle', price: 114.99, description: 'The classic court icon.', sizes: ['8', '9', '10', '11', '12'], colors: ['white', 'black'] },
  { name: 'Ultraboost Light', brand: 'Adidas', category: 'running', price: 189.99, description: 'Lightest Ultraboost ever.', sizes: ['8', '9', '10', '11'], colors: ['black', 'grey'] },
  { name: 'Samba OG', brand: 'Adidas', category: 'lifestyle', price: 99.99, description: 'Terrace favourite with a gum sole.', sizes: ['7', '8', '9', '10'], colors: ['white', 'black', 'green'] },
  { name: 'Gazelle', brand: 'Adidas', category: 'lifestyle', price: 109.99, description: 'Suede low-top from 1966.', sizes: ['8', '9', '10'], colors: ['blue', 'red'] },
  { name: 'Fresh Foam X 1080v13', brand: 'New Balance', category: 'running', price: 164.99, description: 'Plush cushioning for long miles.', sizes: ['8', '9', '10', '11'], colors: ['grey', 'blue'] },
  { name: '550', brand: 'New Balance', category: 'basketball', price: 119.99, description: 'Retro basketball silhouette.', sizes: ['8', '9', '10', '11'], colors: ['white', 'green'] },
  { name: 'Gel-Kayano 31', brand: 'ASICS', category: 'running', price: 159.99, description: 'Stability for overpronators.', sizes: ['8', '9', '10', '11'], colors: ['black', 'orange'] },
  { name: 'Gel-Nimbus 26', brand: 'ASICS', category: 'running', price: 159.99, description: 'Soft and smooth neutral ride.', sizes: ['9', '10', '11'], colors: ['blue', 'white'] },
  { name: 'Chuck Taylor All Star', brand: 'Converse', category: 'lifestyle', price: 64.99, description: 'Canvas high-top since 1917.', sizes: ['6', '7', '8', '9', '10', '11'], colors: ['black', 'white', 'red'] },
  { name: 'Old Skool', brand: 'Vans', category: 'skate', price: 74.99, description: 'The original skate shoe with the side stripe.', sizes: ['7', '8', '9', '10', '11'], colors: ['black', 'navy'] },
  { name: 'Sk8-Hi', brand: 'Vans', category: 'skate', price: 84.99, description: 'High-top with padded collar.', sizes: ['8', '9', '10'], colors: ['black', 'white'] },
  { name: 'Clifton 9', brand: 'Hoka', category: 'running', price: 144.99, description: 'Light, cushioned daily trainer.', sizes: ['8', '9', '10', '11'], colors: ['black', 'white'] },
  { name: 'Speedgoat 6', brand: 'Hoka', category: 'trail', price: 154.99, description: 'Grippy trail shoe for technical terrain.', sizes: ['9', '10', '11'], colors: ['orange', 'green'] },
  { name: 'Suede Classic', brand: 'Puma', category: 'lifestyle', price: 74.99, description: 'Suede icon since 1968.', sizes: ['8', '9', '10'], colors: ['red', 'black'] },
  { name: 'Cloud 5', brand: 'On', category: 'running', price: 139.99, description: 'Everyday CloudTec comfort.', sizes: ['8', '9', '10', '11'], colors: ['white', 'grey'] },
  { name: '1460 Smooth Boot', brand: 'Dr. Martens', category: 'boots', price: 169.99, description: 'Eight-eye leather boot.', sizes: ['7', '8', '9', '10', '11'], colors: ['black', 'cherry'] },
  { name: 'Classic Leather', brand: 'Reebok', category: 'lifestyle', price: 79.99, description: 'Soft leather, timeless runner.', sizes: ['8', '9', '10', '11'], colors: ['white'] },
  { name: 'Jordan 1 Mid', brand: 'Nike', category: 'basketball', price: 124.99, description: 'Mid-top Jordan heritage.', sizes: ['8', '9', '10', '11', '12'], colors: ['black', 'red'] },
];

/** Deterministic stock: mostly healthy, some low (≤ 5) and some at zero, so alerts can be seen. */
const stockFor = (i: number, j: number) => {
  const k = (i * 7 + j * 13) % 17;
  return k === 0 ? 0 : k < 3 ? k + 1 : 5 + ((i * 11 + j * 5) % 26);
};

/** Loads the demo catalogue once (only into an empty catalogue) and makes sure the demo accounts exist. */
export async function seedDemoData(services: Services, orm: MikroORM, logger: Logger): Promise<SeedResult> {
  const em = orm.em.fork();
  if (!(await em.findOne(User, { email: ADMIN_EMAIL }))) await services.users.createUser(ADMIN_EMAIL, DEMO_PASSWORD, 'Demo Admin', Role.ADMIN);
  if (!(await em.findOne(User, { email: CUSTOMER_EMAIL }))) await services.users.createUser(CUSTOMER_EMAIL, DEMO_PASSWORD, 'Demo Customer', Role.CUSTOMER);
  const [{ count }] = await em.execute<Array<{ count: string }>>('select count(*) from products');
  let created = false;
  if (Number(count) === 0) {
    for (const [i, s] of shoes.entries()) {
      const variants = s.sizes.flatMap((size, a) => s.colors.map((color, b) => ({ size, color, stock: stockFor(i, a * s.colors.length + b) })));
      await services.catalog.createProduct({ name: s.name, brand: s.brand, category: s.category, price: s.price, description: s.description, variants });
    }
    created = true;
    logger.info({ products: shoes.length }, 'demo catalogue loaded');
  }
  return { created, products: created ? shoes.length : Number(count), adminEmail: ADMIN_EMAIL, customerEmail: CUSTOMER_EMAIL, password: DEMO_PASSWORD };
}
